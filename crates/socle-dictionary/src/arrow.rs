//! The Arrow form of the dictionary: one mapping of types and one schema per entity, shared by
//! the connector, the normalisation and the warehouse. Each field carries its personal-data class
//! as metadata ([`PERSONAL_METADATA_KEY`]), so the warehouse can tell what may be shared from the
//! schema alone.

use crate::model::{Entity, FieldType, PersonalClass};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use std::sync::Arc;

/// Field metadata key holding a field's personal-data class (`none`, `direct_identifier`...).
pub const PERSONAL_METADATA_KEY: &str = "socle.personal";

impl FieldType {
    /// text `Utf8`, int `Int64`, dec `Float64`, money `Decimal128(18, 2)`, date `Date32`,
    /// timestamp `Timestamp(Microsecond)`, bool `Boolean`.
    pub fn arrow_type(self) -> DataType {
        match self {
            FieldType::Text => DataType::Utf8,
            FieldType::Int => DataType::Int64,
            FieldType::Dec => DataType::Float64,
            FieldType::Money => DataType::Decimal128(18, 2),
            FieldType::Date => DataType::Date32,
            FieldType::Timestamp => DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, None),
            FieldType::Bool => DataType::Boolean,
        }
    }
}

impl PersonalClass {
    /// Parses the name written by [`PersonalClass::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [
            PersonalClass::None,
            PersonalClass::DirectIdentifier,
            PersonalClass::Name,
            PersonalClass::BirthDate,
            PersonalClass::LocalIdentifier,
            PersonalClass::Pseudonymous,
            PersonalClass::Sensitive,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

impl Entity {
    /// The full schema (per-CSS zone), every field tagged with its personal-data class.
    pub fn arrow_schema(&self) -> SchemaRef {
        self.schema_of(self.fields.iter())
    }

    /// The shared-zone schema: the fields allowed there only.
    pub fn shared_arrow_schema(&self) -> SchemaRef {
        self.schema_of(self.shared_fields())
    }

    fn schema_of<'a>(&self, fields: impl Iterator<Item = &'a crate::model::Field>) -> SchemaRef {
        Arc::new(Schema::new(
            fields
                .map(|f| {
                    Field::new(&f.name, f.field_type.arrow_type(), true)
                        .with_metadata([(PERSONAL_METADATA_KEY.to_string(), f.personal.as_str().to_string())].into())
                })
                .collect::<Vec<_>>(),
        ))
    }
}
