-- Students. The shared key is HMAC-SHA256 of the code permanent (UDF `cle_eleve`); a missing or
-- malformed code permanent gets a local key from (CSS, fiche) and `cle_locale` = true.
SELECT
  '{css}' AS code_css,
  'gpi' AS systeme_source,
  cle_eleve(code_perm, '{css}', CAST(fiche AS VARCHAR)) AS cle_eleve,
  NOT coalesce(regexp_like(upper(code_perm), '^[A-Z]{4}[0-9]{8}$'), false) AS cle_locale,
  fiche,
  upper(code_perm) AS code_permanent,
  nom,
  pnom AS prenom,
  upper(sexe) AS sexe,
  date_naiss AS date_naissance,
  CAST(NULL AS VARCHAR) AS _reason,
  CAST(NULL AS VARCHAR) AS _column,
  CAST(NULL AS VARCHAR) AS _message,
  _file,
  _line
FROM gpm_e_ele
