"""Devices showing private data: a phone with a chat/contact screen, a laptop with a mail client.
Only the screen is private (the device body is not), which is what a redaction would cover."""

from __future__ import annotations

import cv2
import numpy as np

from sppe_ray.privacy.fakes import fake_text
from sppe_ray.privacy.synthetic.canvas import Canvas, random_color, rounded_rect


def phone(rng: np.random.Generator) -> Canvas:
    w, h = 150, 300
    body = (25, 25, 28) if rng.random() < 0.7 else (215, 215, 220)
    cv = Canvas(w, h, body, family="phone")
    cv.round_corners(22)
    sx0, sy0, sx1, sy1 = 8, 20, w - 8, h - 20
    dark = rng.random() < 0.4
    screen = (18, 18, 22) if dark else (246, 246, 250)
    ink = (235, 235, 235) if dark else (20, 20, 20)
    cv.rect((sx0, sy0, sx1, sy1), screen, radius=10)
    accent = random_color(rng, 20, 200)
    cv.text((sx0 + 6, sy0 + 4, sx0 + 50, sy0 + 16), f"{int(rng.integers(1, 13))}:{int(rng.integers(0, 60)):02d}",
            ink, bold=True, max_size=10)
    cv.rect((sx0, sy0 + 20, sx1, sy0 + 56), accent)
    cv.text((sx0 + 6, sy0 + 24, sx1 - 6, sy0 + 38), fake_text("name", rng), (255, 255, 255), bold=True,
            name="contact", kind="name", private=True)
    cv.text((sx0 + 6, sy0 + 40, sx1 - 6, sy0 + 52), fake_text("phone", rng), (255, 255, 255),
            name="phone", kind="phone", private=True)
    y = sy0 + 64
    messages = [fake_text("generic", rng) for _ in range(4)]
    for i, msg in enumerate(messages):
        mine = i % 2 == 1
        bubble = accent if mine else ((60, 60, 66) if dark else (226, 226, 232))
        x0, x1 = (sx0 + 34, sx1 - 6) if mine else (sx0 + 6, sx1 - 34)
        rounded_rect(cv.rgb, (x0, y, x1, y + 34), 8, bubble)
        words = msg.split()
        text = " ".join(words[: len(words) // 2 + 1]) + "\n" + " ".join(words[len(words) // 2 + 1:])
        col = (255, 255, 255) if mine or dark else (20, 20, 20)
        cv.text((x0 + 5, y + 3, x1 - 5, y + 31), text, col, name=f"message{i}", kind="generic", private=True,
                max_size=10)
        y += 42
    cv.text((sx0 + 6, sy1 - 22, sx1 - 6, sy1 - 8), fake_text("datetime", rng), ink, align="center",
            name="datetime", kind="datetime", private=True, max_size=9)
    cv.private[sy0:sy1, sx0:sx1] = 1.0
    return cv


def laptop(rng: np.random.Generator) -> Canvas:
    w, h = 340, 250
    cv = Canvas(w, h, (60, 62, 68), family="laptop")
    cv.alpha[:] = 0.0
    cv.alpha[:206, 20:w - 20] = 1.0  # lid
    base = np.array([[0, 206], [w, 206], [w - 8, 226], [8, 226]], np.int32)
    lid = np.zeros_like(cv.alpha)
    cv2.fillPoly(lid, [base], 1.0)
    cv.alpha = np.maximum(cv.alpha, lid)
    cv2.fillPoly(cv.rgb, [base], (150, 152, 158))
    sx0, sy0, sx1, sy1 = 30, 10, w - 30, 196
    cv.rect((sx0, sy0, sx1, sy1), (250, 250, 252))
    bar = random_color(rng, 20, 150)
    cv.rect((sx0, sy0, sx1, sy0 + 18), bar)
    user = fake_text("username", rng)
    cv.text((sx0 + 6, sy0 + 3, sx1 - 60, sy0 + 15), f"Inbox - {user}", (255, 255, 255), name="username",
            kind="username", private=True)
    cv.rect((sx0, sy0 + 18, sx0 + 70, sy1), (236, 238, 242))
    for i, label in enumerate(("Inbox", "Sent", "Drafts", "Spam")):
        cv.text((sx0 + 6, sy0 + 26 + 16 * i, sx0 + 64, sy0 + 38 + 16 * i), label, (60, 60, 60), max_size=10)
    x0 = sx0 + 76
    cv.text((x0, sy0 + 24, sx1 - 6, sy0 + 38), "From: " + fake_text("email", rng), (20, 20, 20), bold=True,
            name="from", kind="email", private=True)
    cv.text((x0, sy0 + 40, sx1 - 6, sy0 + 52), "To: " + fake_text("email", rng), (50, 50, 50), name="to",
            kind="email", private=True)
    cv.text((x0, sy0 + 54, sx1 - 6, sy0 + 66), fake_text("datetime", rng), (90, 90, 90), name="date",
            kind="datetime", private=True)
    cv.text((x0, sy0 + 72, sx1 - 6, sy0 + 88), "Re: " + fake_text("generic", rng), (10, 10, 10), bold=True,
            name="subject", kind="generic", private=True)
    y = sy0 + 96
    for i in range(4):
        cv.text((x0, y, sx1 - 8, y + 12), fake_text("generic", rng), (60, 60, 60), name=f"body{i}",
                kind="generic", private=True, max_size=10)
        y += 16
    cv.text((x0, y + 4, sx1 - 8, y + 16), fake_text("name", rng), (30, 30, 30), name="signature_name",
            kind="name", private=True, max_size=11)
    cv.private[sy0:sy1, sx0:sx1] = 1.0
    return cv
