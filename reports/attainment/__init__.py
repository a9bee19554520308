"""Attainment of targets (DESIGN §11): actuals from the report selectors, pacing over the
business calendar, and the marketing–sales agreement."""
