from mimica.cli import main

main()
