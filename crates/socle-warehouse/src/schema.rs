//! Arrow schemas from the data dictionary, tagged with each field's personal-data class.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use socle_dictionary::{Entity, FieldType, PersonalClass};

/// Arrow field-metadata key holding a field's personal-data class (`none`, `name`,
/// `direct_identifier`...). [`entity_schema`] sets it; the shared-zone session drops the fields
/// whose class is never shared.
pub const PERSONAL_METADATA_KEY: &str = "socle.personal";

/// The Arrow type of a dictionary field type: text `Utf8`, int `Int64`, dec `Float64`,
/// date `Date32`, bool `Boolean`.
pub fn arrow_type(field_type: FieldType) -> DataType {
    match field_type {
        FieldType::Text => DataType::Utf8,
        FieldType::Int => DataType::Int64,
        FieldType::Dec => DataType::Float64,
        FieldType::Date => DataType::Date32,
        FieldType::Bool => DataType::Boolean,
    }
}

/// The full schema of an entity, in dictionary order, each field tagged with
/// [`PERSONAL_METADATA_KEY`].
pub fn entity_schema(entity: &Entity) -> SchemaRef {
    let fields: Vec<Field> = entity
        .fields
        .iter()
        .map(|f| {
            Field::new(&f.name, arrow_type(f.field_type), f.nullable)
                .with_metadata([(PERSONAL_METADATA_KEY.to_string(), f.personal.as_str().to_string())].into())
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// [`entity_schema`] of every entity, by entity name: the `schemas` argument of
/// [`crate::Warehouse::session`].
pub fn entity_schemas<'a>(entities: impl IntoIterator<Item = &'a Entity>) -> BTreeMap<String, SchemaRef> {
    entities
        .into_iter()
        .map(|e| (e.name.clone(), entity_schema(e)))
        .collect()
}

/// Whether a field may appear in the shared zone, from its [`PERSONAL_METADATA_KEY`] tag.
/// Untagged fields are kept (the caller vouches for them); an unknown class is dropped.
fn field_is_shareable(field: &Field) -> bool {
    match field.metadata().get(PERSONAL_METADATA_KEY) {
        None => true,
        Some(class) => serde_json::from_value::<PersonalClass>(serde_json::Value::String(class.clone()))
            .map(PersonalClass::allowed_in_shared_zone)
            .unwrap_or(false),
    }
}

/// `schema` without the fields tagged with a never-shared personal class.
pub fn shared_schema(schema: &Schema) -> SchemaRef {
    let fields: Vec<Arc<Field>> = schema
        .fields()
        .iter()
        .filter(|f| field_is_shareable(f))
        .cloned()
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}
