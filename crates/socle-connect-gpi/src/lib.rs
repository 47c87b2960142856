//! socle-connect-gpi
