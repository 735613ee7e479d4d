"""The published run of the validation study (``make validate``): its sizes, in one place.

The Makefile's ``validate`` target passes them to notebook 08 (a test checks it does), and report 08 and
the index name them. Nothing is imported here, so the index can read them without the data libraries.
"""

#: Replications per target. A coverage near 95 % then has a Monte Carlo standard error of
#: √(0.95 × 0.05 / 5000) ≈ 0.3 points.
REPLICATIONS = 5000

#: The first replications of each target that also get bootstrap variances.
BOOTSTRAP_REPLICATIONS = 200

#: Rao–Wu bootstrap replicates per survey in those.
BOOTSTRAP_REPLICATES = 100
