//! TODO(helper): signer contract suite
