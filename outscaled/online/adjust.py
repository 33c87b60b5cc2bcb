"""The adjustment layers on a request's per-map means (patch meta; champion and player-on-champion after the
draft), in the mode the backtest scored them, with their effects in words."""

from __future__ import annotations

import numpy as np

from outscaled.models.backtest import Bundle
from outscaled.models.layers import LAYERS, normalise_champion
from outscaled.online.inputs import Resolved
from outscaled.online.reasoning import adjustment_text


def layer_factors(bundle: Bundle, stat: str, resolved: list[Resolved], out: list[list[str]], mine: list[int],
                  snapshot_champions: dict[str, str]) -> tuple[np.ndarray, dict[int, str]]:
    """Per request of `mine` (the distributions this bundle answers for this stat): the layers' factor
    on every map's mean (1 for the others) and the calibration mode ("meta" before the draft,
    "post_draft" with a champion; "model" for a bundle without layers); the adjustments in words go to
    `out`."""
    factor = np.ones(len(resolved))
    if bundle.layers is None:
        for j in mine:
            if resolved[j].request.champion:
                out[j].append("champion is not used: this model version has no champion layer")
        return factor, {j: "model" for j in mine}
    layers = bundle.layers
    champions = [normalise_champion(resolved[j].request.champion) if resolved[j].request.champion else None
                 for j in mine]
    positions = [resolved[j].position for j in mine]
    found = {
        "patch": layers.factors("patch", stat, [(resolved[j].patch, p) for j, p in zip(mine, positions)]),
        "champion": layers.factors("champion", stat, [(c,) for c in champions]),
        "player_champion": layers.factors("player_champion", stat, [(resolved[j].player.get("player_key"), c)
                                                                    for j, c in zip(mine, champions)]),
    }
    drafted = np.array([c is not None for c in champions])
    factor[mine] = found["patch"][0] * np.where(drafted, found["champion"][0] * found["player_champion"][0], 1.0)
    for k, (j, champion) in enumerate(zip(mine, champions)):
        player = resolved[j].player
        name = (layers.champions.get(champion) or snapshot_champions.get(champion, champion)) if champion else None
        subjects = {"patch": f"patch {resolved[j].patch} meta for {resolved[j].position}",
                    "champion": f"champion {name}", "player_champion": f"{player.get('player_name')} on {name}"}
        for layer in LAYERS if champion else LAYERS[:1]:
            value, games = found[layer.name][0][k], int(found[layer.name][1][k])
            out[j].append(adjustment_text(subjects[layer.name], stat, float(value), games, layer.min_games,
                                          float(layers.priors[layer.name].get(stat, float("inf")))))
    return factor, {j: "post_draft" if c else "meta" for j, c in zip(mine, champions)}
