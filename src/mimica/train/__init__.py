"""Training (extra [train]): crop caching, self-blended pseudo-fakes, the networks, the loop and ONNX export.

Everything here except `prepare` imports torch; install it first with `pip install torch==2.13.0`.
"""
