// The reverse proxy (listeners, HTTP pipeline, policy, upstreams, admin) lives in this module.
