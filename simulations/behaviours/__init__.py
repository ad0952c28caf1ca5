"""The owners of simulated nodes, as small strategy objects: what a person or a vendor decides.

``owners`` holds the honest person and vendor of the market and lifecycle scenarios (when to
offer, what to do with terms a policy leaves open) and the vendor who shares data onward;
``attackers`` holds EigenTrust's threat models for the reputation scenario: breaching vendors,
colluders, spies and their casting.
"""
