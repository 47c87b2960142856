-- Results, from GPI's wide form (one column per étape) to one row per student x course x étape.
-- Each cell is read in the order of formats/README.md:
--   1. a code of the group's legend for that étape: evaluated when its pass/fail flag is set
--      (1 pass, 2 fail), otherwise not evaluated;
--   2. else a number (decimal comma or point): evaluated, passed when >= the legend's pass mark
--      (the dictionary's default when the legend gives none); above 100 is out of domain;
--   3. else a special value of the CSS's value map (ABS absent, EX exempted, NE, *...);
--   4. an empty cell is `vide`; anything else is quarantined as an unknown result code.
WITH cells AS (
  SELECT id_mat_grp, fiche, id_eco, mat, grp, etat, unites_ele, '1' AS etape, 'res_etape_01' AS colonne, res_etape_01 AS res, _file, _line FROM gpm_e_mat_ele
  UNION ALL
  SELECT id_mat_grp, fiche, id_eco, mat, grp, etat, unites_ele, '2', 'res_etape_02', res_etape_02, _file, _line FROM gpm_e_mat_ele
  UNION ALL
  SELECT id_mat_grp, fiche, id_eco, mat, grp, etat, unites_ele, '3', 'res_etape_03', res_etape_03, _file, _line FROM gpm_e_mat_ele
  UNION ALL
  SELECT id_mat_grp, fiche, id_eco, mat, grp, etat, unites_ele, 'final', 'res_som', res_som, _file, _line FROM gpm_e_mat_ele
),
with_legend AS (
  SELECT
    r.*,
    CASE r.etape
      WHEN '1' THEN g.leg_etape_01
      WHEN '2' THEN g.leg_etape_02
      WHEN '3' THEN g.leg_etape_03
      ELSE g.leg_som
    END AS leg,
    CASE WHEN regexp_like(r.res, '^[0-9]+([.,][0-9]+)?$') THEN CAST(replace(r.res, ',', '.') AS DOUBLE) END AS num
  FROM cells r
  LEFT JOIN gpm_t_mat_grp g ON g.id_mat_grp = r.id_mat_grp
),
decoded AS (
  SELECT
    r.*,
    c.cote,
    c.note_equiv,
    c.indic_reus_echec,
    coalesce(l.seuil_reus, {default_pass_mark}) AS seuil,
    s.statut AS statut_special
  FROM with_legend r
  LEFT JOIN gpm_t_cotes c ON c.id_eco = r.id_eco AND c.leg = r.leg AND c.cote = r.res
  LEFT JOIN gpm_t_leg l ON l.id_eco = r.id_eco AND l.leg = r.leg
  LEFT JOIN map_valeurs_speciales s ON s.code = upper(r.res)
),
classified AS (
  SELECT
    r.*,
    CASE
      WHEN r.res IS NULL THEN 'vide'
      WHEN r.cote IS NOT NULL THEN
        CASE r.indic_reus_echec WHEN 1 THEN 'reussi' WHEN 2 THEN 'echec' ELSE 'non_evalue' END
      WHEN r.num IS NOT NULL AND r.num <= 100 THEN
        CASE WHEN r.num >= r.seuil THEN 'reussi' ELSE 'echec' END
      WHEN r.num IS NOT NULL THEN NULL
      ELSE r.statut_special
    END AS statut_resultat
  FROM decoded r
)
SELECT
  e.annee_scolaire,
  '{css}' AS code_css,
  'gpi' AS systeme_source,
  e.code_etablissement,
  k.cle_eleve,
  r.fiche,
  e.ecole_bidon,
  coalesce(m.code_cours, r.mat) AS code_cours,
  r.mat AS code_cours_source,
  m.code_cours IS NULL AND NOT regexp_like(r.mat, '^([0-9]{6}|[A-Z]{3}[1-6]00)$') AS cours_local,
  r.grp AS groupe,
  coalesce(regexp_like(r.grp, '^[A-Za-z]'), false) AS reprise,
  r.etat,
  r.etape,
  r.res AS resultat_source,
  r.leg AS code_legende,
  r.statut_resultat,
  r.statut_resultat IN ('reussi', 'echec') AS evalue,
  CASE WHEN r.statut_resultat IN ('reussi', 'echec') THEN r.statut_resultat = 'reussi' END AS reussi,
  CASE WHEN r.cote IS NOT NULL THEN r.note_equiv ELSE r.num END AS note,
  r.seuil AS seuil_reussite,
  r.unites_ele AS unites_obtenues,
  CASE
    WHEN e.id_eco IS NULL THEN 'unknown_school'
    WHEN k.fiche IS NULL THEN 'unknown_student'
    WHEN r.statut_resultat IS NULL AND r.num IS NOT NULL THEN 'out_of_domain'
    WHEN r.statut_resultat IS NULL THEN 'unknown_result_code'
  END AS _reason,
  CASE
    WHEN e.id_eco IS NULL THEN 'id_eco'
    WHEN k.fiche IS NULL THEN 'fiche'
    WHEN r.statut_resultat IS NULL THEN r.colonne
  END AS _column,
  CASE
    WHEN e.id_eco IS NULL THEN concat('id_eco ', CAST(r.id_eco AS VARCHAR), ' is not a loaded school of gpm_t_eco')
    WHEN k.fiche IS NULL THEN 'fiche is not a student of gpm_e_ele'
    WHEN r.statut_resultat IS NULL AND r.num IS NOT NULL THEN concat('result ', r.res, ' is above 100')
    WHEN r.statut_resultat IS NULL THEN concat('unknown result code ''', r.res, ''' (not a code of legend ', coalesce(r.leg, '(none)'), ', not a number, not a special value)')
  END AS _message,
  r._file,
  r._line
FROM classified r
LEFT JOIN etablissement_ok e ON e.id_eco = r.id_eco
LEFT JOIN eleve_key k ON k.fiche = r.fiche
LEFT JOIN map_cours m ON m.code_source = r.mat
