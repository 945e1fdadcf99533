"""The four groups of the dataset-anonymization suite (Unsafe2Safe): quality, cheating, privacy, utility.

Every metric is a pure function of arrays or strings, defined with its edge cases in docs/anonymization.md;
``analysis`` holds the only code that runs detectors (faces, OCR) to produce those inputs.
"""
