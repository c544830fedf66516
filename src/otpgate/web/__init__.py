"""The HTTP side: one shared layer (errors, authentication, middleware, wire checks) and one
package per API. Each API package translates its own wire format; none imports another,
and none imports an adapter."""
