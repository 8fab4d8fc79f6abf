"""Fail when the cross-validated weighted intent F1 is below the bar."""

import json
import sys

report_path, bar = sys.argv[1], float(sys.argv[2])
with open(report_path, encoding="utf-8") as handle:
    report = json.load(handle)
f1 = report["weighted avg"]["f1-score"]
print(f"weighted intent F1: {f1:.4f} (bar {bar})")
sys.exit(0 if f1 >= bar else 1)
