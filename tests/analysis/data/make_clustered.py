"""Write the clustered test data sets (run once; the CSV files are committed).

``groups_*``: CFT delivered in six therapy groups with a real group effect on the post
scores, usual care (UC) in no group, three sites; ``sites3_*``: three timepoints, four sites
with a site effect, therapy groups; ``singular_*``: therapy groups without any group effect
(lme4 estimates the group variance as 0). Usage: ``python make_clustered.py`` in this folder.
"""

import numpy as np
import pandas as pd


def trial(name, prefix, seed, n_cft, n_uc, group_size, timepoints, group_sd, site_sd,
          sites):
    rng = np.random.default_rng(seed)
    n = n_cft + n_uc
    ids = [f"{prefix}{i:03d}" for i in range(n)]
    arm = np.array(["CFT"] * n_cft + ["UC"] * n_uc)
    group = np.array([f"G{i // group_size + 1}" for i in range(n_cft)] + [""] * n_uc)
    site = np.array(sites)[rng.integers(0, len(sites), n)]
    site_effect = dict(zip(sites, rng.normal(0, site_sd, len(sites)), strict=True))
    group_effect = {g: rng.normal(0, group_sd) for g in set(group) if g}
    person = rng.normal(0, 5, n)
    sessions = np.where(arm == "CFT", rng.integers(3, 13, n), -1)
    rows = []
    for j, tp in enumerate(timepoints):
        for i in range(n):
            if j > 0 and rng.random() < 0.1:
                continue
            change = 0.0 if j == 0 else -2.0 * j - (5.0 * j if arm[i] == "CFT" else 0.0)
            clustered = group_effect[group[i]] if (j > 0 and group[i]) else 0.0
            score = 32 + person[i] + site_effect[site[i]] + change + clustered
            rows.append((ids[i], arm[i], tp, "BDI-II",
                         float(np.clip(round(score + rng.normal(0, 4)), 0, 63))))
    scores = pd.DataFrame(rows, columns=["participant_id", "arm", "timepoint", "measure",
                                         "score"])
    participants = pd.DataFrame({
        "participant_id": ids, "arm": arm,
        "status": np.where(rng.random(n) < 0.85, "completed", "withdrawn"),
        "gender": np.where(rng.random(n) < 0.6, "female", "male"),
        "age": rng.integers(18, 61, n), "site": site, "therapy_group": group,
        "sessions_attended": pd.array(np.where(sessions < 0, None, sessions), dtype="Int64"),
    })
    scores.to_csv(f"{name}_scores.csv", index=False)
    participants.to_csv(f"{name}_participants.csv", index=False)


if __name__ == "__main__":
    trial("groups", "P", 7, 48, 40, 8, ["pre", "post"], 4.0, 1.0, ["A", "B", "C"])
    trial("sites3", "Q", 11, 60, 50, 10, ["pre", "post", "follow"], 2.5, 3.0,
          ["N", "E", "S", "W"])
    trial("singular", "R", 2, 32, 28, 8, ["pre", "post"], 0.0, 0.0, ["A", "B"])
