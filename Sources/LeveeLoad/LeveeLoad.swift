// The load generator engine (scenarios, scheduler, attack profiles, reports) lives in this module.
