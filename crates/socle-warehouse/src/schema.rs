//! Arrow schemas from the data dictionary, tagged with each field's personal-data class.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use socle_dictionary::{Entity, PersonalClass};

pub use socle_dictionary::PERSONAL_METADATA_KEY;

/// The full schema of an entity, in dictionary order, each field tagged with
/// [`PERSONAL_METADATA_KEY`] (the dictionary's own Arrow form).
pub fn entity_schema(entity: &Entity) -> SchemaRef {
    entity.arrow_schema()
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
        Some(class) => PersonalClass::parse(class).is_some_and(PersonalClass::allowed_in_shared_zone),
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
