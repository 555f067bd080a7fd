"""Field data: XLSForm forms generated from the registry's codes, readers of the submissions
ODK Central and KoboToolbox export, and what a submission would write once reviewed."""
