"""Backgrounds and scenes for the object tests of what-if and the report, without 1,000 steps of
play: a Pong background from one observation (each row's most common gray level: the court and
walls fill most of every row, paddles, ball and score digits do not), and a synthetic scene."""

from __future__ import annotations

import numpy as np

COURT, BALL, PADDLE = 87, 236, 148


def row_mode_background(frame: np.ndarray) -> np.ndarray:
    """uint8 (H, W): each row of ``frame`` (H, W) painted with its most common gray level."""
    frame = np.asarray(frame, np.uint8)
    modes = np.array([np.bincount(row, minlength=256).argmax() for row in frame], np.uint8)
    return np.repeat(modes[:, None], frame.shape[1], axis=1)


def pong_scene() -> tuple[np.ndarray, np.ndarray]:
    """(obs uint8 (4, 84, 84), background (84, 84)): a 2x2 ball moving right by 3 px a frame and the
    agent's paddle (2x8 at column 73-74, still) on a flat court."""
    bg = np.full((84, 84), COURT, np.uint8)
    obs = np.repeat(bg[None], 4, axis=0).copy()
    for t in range(4):
        obs[t, 40:42, 30 + 3 * t : 32 + 3 * t] = BALL
        obs[t, 30:38, 73:75] = PADDLE
    return obs, bg
