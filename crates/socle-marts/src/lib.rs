//! socle-marts
