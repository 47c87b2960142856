-- resultats_retenus: the results every success indicator counts. Definition in words:
-- resultats_retenus.yaml. Narrow: only the columns the marts read (30 million rows at the
-- province scale).
WITH
-- A year without any enrolment in the CSS: the most recent system of the results themselves.
systeme_resultat AS (
  SELECT annee_scolaire, code_css, max(systeme_source) AS systeme_source
  FROM resultat
  GROUP BY annee_scolaire, code_css
),
retenus AS (
  SELECT r.annee_scolaire, r.code_css, r.code_etablissement, r.cle_eleve, r.code_cours, r.etape,
         r.groupe, r.reprise, r.statut_resultat, r.evalue, r.reussi, r.note
  FROM resultat r
  LEFT JOIN systemes_retenus si
    ON si.annee_scolaire = r.annee_scolaire AND si.code_css = r.code_css
  LEFT JOIN systeme_resultat sr
    ON sr.annee_scolaire = r.annee_scolaire AND sr.code_css = r.code_css
  WHERE r.etat <> 0
    AND NOT r.ecole_bidon
    AND COALESCE(r.systeme_source = COALESCE(si.systeme_source, sr.systeme_source), true)
)
-- `ligne` numbers the rows kept (a row id of this run, no meaning across nights): the grain is
-- the source row, and no column set identifies one (two fiches of one student key give two rows
-- with the same student, course, group and étape). A global row_number() streams; numbering
-- within each student, course and étape would sort every result (about 10 s for one CSS of
-- 110,000 students, measured).
SELECT *, row_number() OVER () AS ligne
FROM retenus
