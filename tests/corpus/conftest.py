from __future__ import annotations

from pathlib import Path

import pytest
from tests import facemedia, mediagen


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory: pytest.TempPathFactory, model_card: Path) -> Path:
    """A folder of eight small inputs: faces, no faces, a damaged and an empty file, in a subfolder too."""
    d = tmp_path_factory.mktemp("corpus")
    (d / "sub").mkdir()
    facemedia.write_face_image(d / "face.png")
    facemedia.write_face_video(d / "sub" / "face.mp4", frames=6)
    for i in range(3):
        mediagen.write_video(d / f"clip{i}.mp4", size=(160, 120), frames=8)
    mediagen.write_image(d / "sub" / "blank.jpg", size=(160, 120))
    mediagen.write_random(d / "noise.mp4")
    (d / "empty.png").write_bytes(b"")
    return d
