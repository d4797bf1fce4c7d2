"""What `zoo demo` prints for a captioner: its captions of generated scenes it never trained on, each checked
against the scene."""

from zoo.datasets import scenes

DEMO_IMAGES = (("test", 0), ("test", 1), ("test", 2), ("test", 3), ("compositional", 0), ("compositional", 1))


def demo_lines(model):
    """Generated scenes the model never trained on (the compositional ones hold unseen colour-shape pairs)."""
    picked = [scenes.generate(split, index) for split, index in DEMO_IMAGES]
    captions = model.caption([image for image, _, _ in picked])
    lines = []
    for (split, index), (_, scene, refs), caption in zip(DEMO_IMAGES, picked, captions):
        mark = "true" if scenes.caption_is_true(caption, scene) else "WRONG"
        lines.append(f"  {split} #{index:<3d} {caption!r:<72} {mark}  (e.g. {refs[0]!r})")
    return "\n".join(lines)
