//! The notify task: stores a human task and mails its link (human-tasks work).
