//! Mail transport (filled in next).
