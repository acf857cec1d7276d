//! Schemas for the HTTP API's document (feature `openapi`) of values whose allowed set is
//! a list kept in the domain, so the document always names exactly what is accepted.

use utoipa::openapi::schema::{Object, ObjectBuilder, Type};

/// A string that must be one of `values`.
pub fn one_of(values: &[&str]) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .build()
}

/// A means of transport ([`crate::travel::TRANSPORT_MODES`]).
pub fn transport_mode() -> Object {
    one_of(&crate::travel::TRANSPORT_MODES)
}

/// A kind of actual cost ([`crate::travel::ACTUAL_KINDS`]).
pub fn actual_kind() -> Object {
    one_of(&crate::travel::ACTUAL_KINDS)
}

/// An instruction of a disposition ([`crate::dispositions::INSTRUCTIONS`]).
pub fn instruction() -> Object {
    one_of(&crate::dispositions::INSTRUCTIONS)
}

/// A string that must be one of `values`, or null.
pub fn one_of_or_null(values: &[&str]) -> Object {
    use utoipa::openapi::schema::SchemaType;
    let mut all: Vec<serde_json::Value> = values.iter().map(|v| (*v).into()).collect();
    all.push(serde_json::Value::Null);
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(all))
        .build()
}

/// An instruction of a disposition, or null (a root disposition has none).
pub fn instruction_or_null() -> Object {
    one_of_or_null(&crate::dispositions::INSTRUCTIONS)
}
