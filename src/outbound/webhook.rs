//! Webhook transport (filled in next).
