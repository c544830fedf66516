"""The demo verification page: a reference front-end served by otpgate itself."""
