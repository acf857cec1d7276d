//! TODO(helper): table contract suite
