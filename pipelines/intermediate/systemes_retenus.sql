-- systemes_retenus: the GPI -> Mozaïk migration rule, written once. Per CSS and school year, the
-- most recent youth system present in `inscription` ('mozaik' > 'gpi'). Every model that reads
-- a youth-system table (inscription, calendrier, absence, resultat) keeps only the rows of this
-- system. Definition in words: systemes_retenus.yaml.
SELECT annee_scolaire, code_css, max(systeme_source) AS systeme_source
FROM inscription
GROUP BY annee_scolaire, code_css
