// RESP client and fleet-wide GCRA leases on Redis (issue #8).
