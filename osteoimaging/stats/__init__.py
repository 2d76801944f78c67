"""Statistics shared by the radiomics study, cohort research and validation.

Small, cited functions on numpy arrays; one implementation of each method (ROC/DeLong,
ICC, Hosmer–Lemeshow, net benefit, …) used everywhere.
"""
