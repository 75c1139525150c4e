"""Code that runs inside AWS: the scanner Lambda handler."""
