-- Mozaïk students. `fiche` is Mozaïk's `eleve_id`. The shared key comes from the code permanent
-- as for GPI; a missing or malformed one gets a local key from (CSS, eleve_id), in GPI's
-- namespace: a CSS migrating from GPI keeps its students' numbers.
SELECT
  '{css}' AS code_css,
  'mozaik' AS systeme_source,
  cle_eleve(code_permanent, '{css}', CAST(eleve_id AS VARCHAR)) AS cle_eleve,
  NOT coalesce(regexp_like(upper(code_permanent), '^[A-Z]{4}[0-9]{8}$'), false) AS cle_locale,
  eleve_id AS fiche,
  upper(code_permanent) AS code_permanent,
  nom,
  prenom,
  upper(genre) AS sexe,
  date_naissance,
  CAST(NULL AS VARCHAR) AS _reason,
  CAST(NULL AS VARCHAR) AS _column,
  CAST(NULL AS VARCHAR) AS _message,
  _file,
  _line
FROM eleves
