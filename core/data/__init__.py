"""Loading, detecting, converting and checking datasets."""
