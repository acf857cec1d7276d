//! TODO(helper): blobs adapter
