//! TODO(helper): mailer adapter
