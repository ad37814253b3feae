"""The report's heatmaps point at the manipulation, measured (docs/benchmarks.md has the full figure from
benchmarks/heatmap_localisation.py): on self-blended faces, whose blend mask is known, the share of the map's
evidence inside the blended region is compared with a uniform map over the crop and with the former 8x8 grid.
Needs the shipped model (a model that knows nothing would fail this); FairFace photos from ../shared/data when
present, the astronaut with different blend masks otherwise."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from tests.conftest import SHARED
from tests.facemedia import astronaut

from mimica.align import crop_faces, transform_points
from mimica.report.occlusion import evidence_maps, face_mask, mass_inside, occlusion_maps
from mimica.report.words import evidence_place, evidence_places, evidence_sentence

N_FACES = 8


def blended_faces(scanner, n: int, seed: int = 0):  # type: ignore[no-untyped-def]
    """(self-blended crop, its crop landmarks, blended region) for n faces."""
    from mimica.train.sbi import self_blend

    folder = SHARED / "faces" / "fairface" / "val"
    pictures = ([np.asarray(Image.open(p).convert("RGB")) for p in sorted(folder.glob("*.jpg"))[: 2 * n]]
                if folder.is_dir() else [astronaut()] * n)
    rng = np.random.default_rng(seed)
    out = []
    for img in pictures:
        faces = scanner.detector.detect(img)
        if not len(faces):
            continue
        crops, mats = crop_faces(img, faces.points5[:1], scanner.classifier.recipe)
        marks = transform_points(faces.mesh[0], mats[0])
        fake, blend = self_blend(crops[0], marks, rng)
        out.append((fake, marks, blend >= 0.1 * blend.max()))
        if len(out) == n:
            break
    return out


@pytest.mark.slow
def test_heatmaps_point_at_the_blend(scanner) -> None:
    clf = scanner.classifier
    uniform, grid, ours = [], [], []
    for fake, marks, region in blended_faces(scanner, N_FACES):
        mask = face_mask(marks, fake.shape[0])
        share_ours = mass_inside(evidence_maps(clf, fake[None], mask[None])[0], region)
        share_grid = mass_inside(occlusion_maps(clf, fake[None])[0], region)
        if share_ours is None or share_grid is None:
            continue
        uniform.append(float(region.mean()))
        grid.append(share_grid)
        ours.append(share_ours)
    assert len(ours) >= N_FACES // 2, "the model saw no evidence in most blended faces"
    # the map puts far more of its evidence on the blend than a map that knows nothing, and than the old grid
    assert np.mean(ours) > np.mean(uniform) + 0.2, (np.mean(ours), np.mean(uniform))
    assert np.mean(ours) > np.mean(grid) + 0.1, (np.mean(ours), np.mean(grid))


def test_evidence_is_named_in_a_plain_sentence(scanner) -> None:
    from mimica.faces.landmarks import FACE_OVAL, MOUTH_LEFT, MOUTH_RIGHT, NOSE_TIP

    img = astronaut()
    faces = scanner.detector.detect(img)
    crops, mats = crop_faces(img, faces.points5[:1], scanner.classifier.recipe)
    marks = transform_points(faces.mesh[0], mats[0])

    def peak_at(xy: np.ndarray) -> np.ndarray:
        heat = np.zeros(crops.shape[1:3], np.float32)
        x, y = np.clip(np.round(xy).astype(int), 0, crops.shape[1] - 1)
        heat[y, x] = 1.0
        return heat

    assert evidence_place(peak_at(marks[[MOUTH_RIGHT, MOUTH_LEFT]].mean(0)), marks) == "around the mouth"
    assert evidence_place(peak_at(marks[NOSE_TIP]), marks) == "on the nose"
    assert evidence_place(peak_at(marks[FACE_OVAL[9]]), marks).startswith("along the outline of the face")
    assert evidence_sentence(peak_at(marks[NOSE_TIP]), marks) == "The strongest evidence sits on the nose."
    assert evidence_sentence(np.zeros((128, 128), np.float32), marks).startswith("No part of the face")
    assert evidence_sentence(peak_at(marks[NOSE_TIP]), None) == "The strongest evidence is the brightest area."



def test_the_sentence_names_the_brightest_spots_of_the_map_it_is_under(scanner) -> None:
    """Two equally bright spots, on an eye and on the mouth: both are named, and not the face's outline; a face
    that leans real gets no "evidence" in its sentence."""
    from mimica.faces.landmarks import LEFT_EYE_CORNERS, MOUTH_LEFT, MOUTH_RIGHT

    img = astronaut()
    faces = scanner.detector.detect(img)
    crops, mats = crop_faces(img, faces.points5[:1], scanner.classifier.recipe)
    marks = transform_points(faces.mesh[0], mats[0])
    size = crops.shape[1]
    heat = np.zeros((size, size), np.float32)
    for xy, value in ((marks[list(LEFT_EYE_CORNERS)].mean(0), 1.0), (marks[[MOUTH_RIGHT, MOUTH_LEFT]].mean(0), 0.9)):
        x, y = np.round(xy).astype(int)
        heat[y - 4 : y + 4, x - 4 : x + 4] = value
    heat += 0.05  # faint evidence everywhere, the outline included
    assert evidence_places(heat, marks) == ["around the subject's left eye", "around the mouth"]
    assert evidence_sentence(heat, marks) == ("The strongest evidence sits around the subject's left eye, then "
                                              "around the mouth.")
    neutral = evidence_sentence(heat, marks, suspect=False)
    assert "evidence" not in neutral and "suspicious" not in neutral
    assert neutral == ("Hiding these parts lowered its score most: around the subject's left eye and around the "
                       "mouth.")
