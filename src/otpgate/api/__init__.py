"""The HTTP front-ends. Each package translates one wire format; none imports another."""
