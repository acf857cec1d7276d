//! TODO(helper): signer adapter
