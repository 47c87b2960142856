//! Name lists (Québec-flavoured French, English and immigrant names) and the *code permanent*.

use chrono::{Datelike, NaiveDate};
use rand::Rng;

pub(crate) const LAST_FR: &[&str] = &[
    "Tremblay",
    "Gagnon",
    "Roy",
    "Côté",
    "Bouchard",
    "Gauthier",
    "Morin",
    "Lavoie",
    "Fortin",
    "Gagné",
    "Ouellet",
    "Pelletier",
    "Bélanger",
    "Lévesque",
    "Bergeron",
    "Leblanc",
    "Paquette",
    "Girard",
    "Simard",
    "Boucher",
    "Caron",
    "Beaulieu",
    "Cloutier",
    "Dubé",
    "Poirier",
    "Fournier",
    "Lapointe",
    "Leclerc",
    "Lefebvre",
    "Poulin",
    "Thibault",
    "St-Pierre",
    "Nadeau",
    "Martin",
    "Landry",
    "Martel",
    "Bédard",
    "Grenier",
    "Lessard",
    "Bernier",
    "Richard",
    "Michaud",
    "Hébert",
    "Desjardins",
    "Couture",
    "Turcotte",
    "Lachance",
    "Parent",
    "Blais",
    "Gosselin",
    "Savard",
    "Proulx",
    "Beaudoin",
    "Demers",
    "Perreault",
    "Boudreau",
    "Lemieux",
    "Cyr",
    "Perron",
    "Dufour",
    "Dion",
    "Mercier",
    "Bolduc",
    "Bérubé",
    "Boisvert",
    "Langlois",
    "Ménard",
    "Laflamme",
    "Dumont",
    "Champagne",
    "Brassard",
    "Duchesne",
    "Provençal",
    "Gingras",
    "Vézina",
    "Lapierre",
    "Thériault",
    "Labbé",
    "Rioux",
    "Paré",
    "Desrosiers",
    "Charbonneau",
    "Drouin",
    "Brisson",
    "Lacroix",
    "Vaillancourt",
    "Rousseau",
    "Lemay",
    "Guay",
    "Fréchette",
    "Larivière",
    "Francoeur",
    "Jetté",
    "Légaré",
    "Vachon",
    "Séguin",
    "Benoît",
    "Gaudreault",
    "Tétreault",
    "Gélinas",
    "Bisson",
    "Maltais",
    "Côté-Tremblay",
    "Gagnon-Roy",
    "Bouchard-Lévesque",
    "Lévêque",
    "Chênevert",
    "Rhéaume",
    "Théberge",
    "Plourde",
    "Pépin",
    "Trépanier",
    "Coulombe",
    "Jobin",
    "Ouimet",
];

pub(crate) const LAST_EN: &[&str] = &[
    "Smith",
    "Brown",
    "Wilson",
    "Taylor",
    "Johnson",
    "Campbell",
    "Stewart",
    "Murphy",
    "Kelly",
    "O'Brien",
    "MacDonald",
    "Anderson",
    "Thompson",
    "Walsh",
    "Ryan",
    "Miller",
    "Scott",
    "Reid",
    "Ross",
    "Young",
    "Clarke",
    "Robertson",
    "Fraser",
    "McKenzie",
    "O'Neill",
    "Graham",
    "Hughes",
    "Bennett",
    "Wright",
    "Morrison",
    "Sullivan",
    "Fitzgerald",
    "Hamilton",
    "Baker",
    "Mitchell",
    "Evans",
    "Collins",
    "Turner",
    "Parker",
    "Cameron",
    "Doyle",
    "Gallagher",
    "Armstrong",
    "Kerr",
];

pub(crate) const LAST_OTHER: &[&str] = &[
    "Nguyen",
    "Tran",
    "Haddad",
    "Khoury",
    "Diallo",
    "Traoré",
    "Benali",
    "Rodriguez",
    "García",
    "Santos",
    "Chen",
    "Wang",
    "Li",
    "Singh",
    "Patel",
    "Joseph",
    "Jean-Baptiste",
    "Pierre",
    "Louis",
    "Saint-Louis",
    "Alexis",
    "Charles",
    "Mohamed",
    "Ahmed",
    "Ben Salah",
    "El Amrani",
    "Bouaziz",
    "Kaur",
    "Pham",
    "Le",
    "Lopez",
    "Hernández",
    "Gonzalez",
    "Dimitriou",
    "Papadopoulos",
    "Rossi",
    "Ferreira",
    "Kouadio",
    "Koné",
    "Ndiaye",
    "Sow",
    "Mensah",
    "Ali",
    "Hussein",
    "Yilmaz",
];

pub(crate) const FIRST_F: &[&str] = &[
    "Emma",
    "Léa",
    "Olivia",
    "Alice",
    "Florence",
    "Zoé",
    "Charlotte",
    "Rosalie",
    "Béatrice",
    "Juliette",
    "Mia",
    "Maëlle",
    "Chloé",
    "Laurence",
    "Ève",
    "Clara",
    "Jade",
    "Lily",
    "Noémie",
    "Anaïs",
    "Élodie",
    "Gabrielle",
    "Sarah",
    "Amélie",
    "Mégane",
    "Océane",
    "Éloïse",
    "Maélie",
    "Marguerite",
    "Romane",
    "Adèle",
    "Victoria",
    "Mila",
    "Sofia",
    "Aurélie",
    "Justine",
    "Laurie",
    "Frédérique",
    "Léonie",
    "Hélène",
    "Françoise",
    "Irène",
    "Noëlle",
    "Ophélie",
    "Méganne",
    "Annabelle",
    "Coralie",
    "Maude",
    "Catherine",
    "Marie-Ève",
    "Anne-Sophie",
    "Élisabeth",
    "Raphaëlle",
    "Clémence",
    "Inès",
    "Yasmine",
    "Amira",
    "Fatoumata",
    "Mei",
    "Linh",
];

pub(crate) const FIRST_F_EN: &[&str] = &[
    "Emily", "Sophie", "Hannah", "Abigail", "Ava", "Grace", "Chloe", "Isabella", "Madison", "Ella", "Lauren", "Megan",
    "Ashley", "Brooke", "Kayla", "Natalie", "Rachel", "Sienna",
];

pub(crate) const FIRST_M: &[&str] = &[
    "William",
    "Liam",
    "Thomas",
    "Noah",
    "Jacob",
    "Léo",
    "Nathan",
    "Édouard",
    "Félix",
    "Théo",
    "Samuel",
    "Arthur",
    "Louis",
    "Olivier",
    "Émile",
    "Raphaël",
    "Gabriel",
    "Charles",
    "Logan",
    "Zack",
    "Jules",
    "Antoine",
    "Benjamin",
    "Xavier",
    "Alexis",
    "Mathis",
    "Loïc",
    "Hugo",
    "Éthan",
    "Zachary",
    "Jérémy",
    "Maxime",
    "François",
    "Rémi",
    "Cédric",
    "Anthony",
    "Mathéo",
    "Henri",
    "Adam",
    "Elliot",
    "Jérôme",
    "Benoît",
    "Étienne",
    "Frédéric",
    "Guillaume",
    "Jean-Philippe",
    "Marc-Antoine",
    "Pier-Luc",
    "Vincent",
    "Simon",
    "Tristan",
    "Justin",
    "Mohamed",
    "Youssef",
    "Ibrahim",
    "Minh",
    "Wei",
    "Aarav",
    "Mamadou",
    "Joël",
];

pub(crate) const FIRST_M_EN: &[&str] = &[
    "James", "Ethan", "Lucas", "Owen", "Jack", "Daniel", "Matthew", "Connor", "Dylan", "Ryan", "Michael", "Ben",
    "Tyler", "Kyle", "Sean", "Patrick", "Aidan", "Nolan",
];

pub(crate) const FIRST_X: &[&str] = &[
    "Charlie",
    "Alex",
    "Sam",
    "Eden",
    "Noa",
    "Dominique",
    "Camille",
    "Andréa",
    "Sasha",
    "Morgan",
];

/// A drawn identity (no code permanent yet).
pub(crate) struct Identity {
    pub nom: &'static str,
    pub pnom: &'static str,
}

fn pick<R: Rng>(rng: &mut R, list: &'static [&'static str]) -> &'static str {
    list[rng.random_range(0..list.len())]
}

/// Draws a name. `english` boards draw mostly English names.
pub(crate) fn draw_identity<R: Rng>(rng: &mut R, sexe: u8, english: bool) -> Identity {
    let r: f64 = rng.random();
    let (fr, en) = if english { (0.15, 0.85) } else { (0.80, 0.87) };
    let nom = if r < fr {
        pick(rng, LAST_FR)
    } else if r < en {
        pick(rng, LAST_EN)
    } else {
        pick(rng, LAST_OTHER)
    };
    let english_first = if english {
        rng.random_bool(0.7)
    } else {
        rng.random_bool(0.08)
    };
    let pnom = match sexe {
        b'F' if english_first => pick(rng, FIRST_F_EN),
        b'F' => pick(rng, FIRST_F),
        b'M' if english_first => pick(rng, FIRST_M_EN),
        b'M' => pick(rng, FIRST_M),
        _ => pick(rng, FIRST_X),
    };
    Identity { nom, pnom }
}

/// Upper-case ASCII letters of a name, accents folded, other characters dropped.
fn letters(s: &str) -> impl Iterator<Item = u8> + '_ {
    s.chars().filter_map(|c| {
        let folded = match c {
            'à' | 'â' | 'ä' | 'á' | 'À' | 'Â' | 'Ä' | 'Á' => 'A',
            'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => 'E',
            'î' | 'ï' | 'í' | 'Î' | 'Ï' | 'Í' => 'I',
            'ô' | 'ö' | 'ó' | 'Ô' | 'Ö' | 'Ó' => 'O',
            'ù' | 'û' | 'ü' | 'ú' | 'Ù' | 'Û' | 'Ü' | 'Ú' => 'U',
            'ç' | 'Ç' => 'C',
            'ÿ' => 'Y',
            c => c,
        };
        folded.is_ascii_alphabetic().then(|| folded.to_ascii_uppercase() as u8)
    })
}

/// The *code permanent*: 3 letters of the last name, 1 of the first name, then day, month
/// (+50 for girls), 2-digit year of birth, and a 2-digit sequence.
pub(crate) fn code_permanent(id: &Identity, sexe: u8, birth: NaiveDate, seq: u8) -> [u8; 12] {
    let mut out = [b'X'; 12];
    for (slot, b) in out.iter_mut().take(3).zip(letters(id.nom)) {
        *slot = b;
    }
    if let Some(b) = letters(id.pnom).next() {
        out[3] = b;
    }
    let month = birth.month() + if sexe == b'F' { 50 } else { 0 };
    let digits = [
        birth.day(),
        month,
        birth.year().rem_euclid(100) as u32,
        u32::from(seq % 100),
    ];
    for (i, d) in digits.iter().enumerate() {
        out[4 + 2 * i] = b'0' + (d / 10) as u8;
        out[5 + 2 * i] = b'0' + (d % 10) as u8;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_permanent_shape() {
        let id = Identity {
            nom: "Côté",
            pnom: "Émile",
        };
        let d = NaiveDate::from_ymd_opt(2012, 3, 7).unwrap();
        let c = code_permanent(&id, b'M', d, 4);
        assert_eq!(&c, b"COTE07031204");
        let id = Identity { nom: "Li", pnom: "Wei" };
        let c = code_permanent(&id, b'F', d, 71);
        assert_eq!(&c, b"LIXW07531271");
    }
}
