-- JADE students (adult education and vocational training). The shared key comes from the code
-- permanent, as for GPI and Mozaïk, so a student who went from the youth sector to FGA or FP keeps
-- one key. A missing or malformed code permanent gets a local key from (CSS, 'jade:' fiche): a
-- namespace of its own, so JADE's fiche 12 never meets GPI's or Mozaïk's student 12.
SELECT
  '{css}' AS code_css,
  'jade' AS systeme_source,
  cle_eleve(codeperm, '{css}', concat('jade:', CAST(fiche AS VARCHAR))) AS cle_eleve,
  NOT coalesce(regexp_like(upper(codeperm), '^[A-Z]{4}[0-9]{8}$'), false) AS cle_locale,
  fiche,
  upper(codeperm) AS code_permanent,
  nom,
  pnom AS prenom,
  upper(sexe) AS sexe,
  datenaiss AS date_naissance,
  CAST(NULL AS VARCHAR) AS _reason,
  CAST(NULL AS VARCHAR) AS _column,
  CAST(NULL AS VARCHAR) AS _message,
  _file,
  _line
FROM e_ele
