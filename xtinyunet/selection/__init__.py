"""The knee of a sensitivity curve, and the selection record it gives."""
