-- Mozaïk results, already long (one line per student, course and étape; `sommaire` is the
-- canonical étape `final`), read in the order of formats/README.md with the line's own legend,
-- exactly as GPI's cells, so the same facts give the same canonical rows:
--   1. a code of the legend (legendes_codes): reussite true = pass, false = fail, null = not
--      evaluated;
--   2. else a number (decimal comma or point): passed when >= the legend's pass mark (the
--      dictionary's default when the legend gives none); above 100 is out of domain;
--   3. else a special value of the CSS's value map;
--   4. an empty result is `vide`; anything else is quarantined as an unknown result code.
-- etat: actif 1, inactif 0, termine 8, equivalence 6 (GPI's codes). reprise is the line's flag.
WITH decoded AS (
  SELECT
    r.*,
    CASE r.etape WHEN 'sommaire' THEN 'final' ELSE r.etape END AS etape_canonique,
    CASE WHEN regexp_like(r.resultat, '^[0-9]+([.,][0-9]+)?$') THEN CAST(replace(r.resultat, ',', '.') AS DOUBLE) END AS num,
    c.code AS cote,
    c.note_equivalente,
    c.reussite AS cote_reussite,
    coalesce(l.seuil_reussite, {default_pass_mark}) AS seuil,
    s.statut AS statut_special
  FROM resultats r
  LEFT JOIN legendes_codes c ON c.etablissement_id = r.etablissement_id AND c.legende = r.legende AND c.code = r.resultat
  LEFT JOIN legendes l ON l.etablissement_id = r.etablissement_id AND l.legende = r.legende
  LEFT JOIN map_valeurs_speciales s ON s.code = upper(r.resultat)
),
classified AS (
  SELECT
    r.*,
    CASE
      WHEN r.resultat IS NULL THEN 'vide'
      WHEN r.cote IS NOT NULL THEN
        CASE WHEN r.cote_reussite THEN 'reussi' WHEN NOT r.cote_reussite THEN 'echec' ELSE 'non_evalue' END
      WHEN r.num IS NOT NULL AND r.num <= 100 THEN
        CASE WHEN r.num >= r.seuil THEN 'reussi' ELSE 'echec' END
      WHEN r.num IS NOT NULL THEN NULL
      ELSE r.statut_special
    END AS statut_resultat
  FROM decoded r
)
SELECT
  r.annee_scolaire,
  '{css}' AS code_css,
  'mozaik' AS systeme_source,
  e.code_etablissement,
  k.cle_eleve,
  r.eleve_id AS fiche,
  e.ecole_bidon,
  coalesce(m.code_cours, r.code_cours) AS code_cours,
  r.code_cours AS code_cours_source,
  m.code_cours IS NULL AND NOT regexp_like(r.code_cours, '^([0-9]{6}|[A-Z]{3}[1-6]00)$') AS cours_local,
  r.groupe,
  coalesce(r.reprise, false) AS reprise,
  CASE r.etat WHEN 'actif' THEN 1 WHEN 'inactif' THEN 0 WHEN 'termine' THEN 8 WHEN 'equivalence' THEN 6 END AS etat,
  r.etape_canonique AS etape,
  r.resultat AS resultat_source,
  r.legende AS code_legende,
  r.statut_resultat,
  r.statut_resultat IN ('reussi', 'echec') AS evalue,
  CASE WHEN r.statut_resultat IN ('reussi', 'echec') THEN r.statut_resultat = 'reussi' END AS reussi,
  CASE WHEN r.cote IS NOT NULL THEN r.note_equivalente ELSE r.num END AS note,
  r.seuil AS seuil_reussite,
  r.unites_obtenues,
  CASE
    WHEN e.id_eco IS NULL THEN 'unknown_school'
    WHEN k.fiche IS NULL THEN 'unknown_student'
    WHEN r.statut_resultat IS NULL AND r.num IS NOT NULL THEN 'out_of_domain'
    WHEN r.statut_resultat IS NULL THEN 'unknown_result_code'
  END AS _reason,
  CASE
    WHEN e.id_eco IS NULL THEN 'etablissement_id'
    WHEN k.fiche IS NULL THEN 'eleve_id'
    WHEN r.statut_resultat IS NULL THEN 'resultat'
  END AS _column,
  CASE
    WHEN e.id_eco IS NULL THEN concat('etablissement_id ', CAST(r.etablissement_id AS VARCHAR), ' is not a loaded school of etablissements')
    WHEN k.fiche IS NULL THEN 'eleve_id is not a student of eleves'
    WHEN r.statut_resultat IS NULL AND r.num IS NOT NULL THEN concat('result ', r.resultat, ' is above 100')
    WHEN r.statut_resultat IS NULL THEN concat('unknown result code ''', r.resultat, ''' (not a code of legend ', coalesce(r.legende, '(none)'), ', not a number, not a special value)')
  END AS _message,
  r._file,
  r._line
FROM classified r
LEFT JOIN etablissement_ok e ON e.id_eco = r.etablissement_id
LEFT JOIN eleve_key k ON k.fiche = r.eleve_id
LEFT JOIN map_cours m ON m.code_source = r.code_cours
