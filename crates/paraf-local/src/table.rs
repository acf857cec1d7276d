//! TODO(helper): table adapter
