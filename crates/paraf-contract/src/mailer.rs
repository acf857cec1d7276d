//! TODO(helper): mailer contract suite
