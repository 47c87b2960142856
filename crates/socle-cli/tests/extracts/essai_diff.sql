SELECT annee_scolaire, cle, valeur, note FROM essai_seed
