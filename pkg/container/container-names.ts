// Random container names in Docker's style (`adjective_surname`), so `tspod ps` output reads
// the way users know. The word lists are our own.

const ADJECTIVES = [
  'admiring', 'agitated', 'amazing', 'angry', 'awesome', 'blissful', 'bold', 'brave', 'busy', 'calm',
  'charming', 'clever', 'cool', 'cranky', 'dazzling', 'determined', 'eager', 'ecstatic', 'elastic', 'elated',
  'elegant', 'epic', 'fervent', 'festive', 'focused', 'friendly', 'funny', 'gallant', 'gifted', 'gracious',
  'happy', 'hardcore', 'hopeful', 'hungry', 'infallible', 'inspiring', 'jolly', 'keen', 'kind', 'laughing',
  'loving', 'lucid', 'magical', 'modest', 'musing', 'nervous', 'nice', 'nifty', 'nostalgic', 'objective',
  'optimistic', 'peaceful', 'pedantic', 'pensive', 'practical', 'quirky', 'quizzical', 'relaxed', 'reverent', 'romantic',
  'serene', 'sharp', 'silly', 'sleepy', 'stoic', 'strange', 'suspicious', 'sweet', 'tender', 'thirsty',
  'trusting', 'upbeat', 'vibrant', 'vigilant', 'wizardly', 'wonderful', 'xenodochial', 'youthful', 'zealous', 'zen',
];

const SURNAMES = [
  'agnesi', 'babbage', 'bardeen', 'bhabha', 'booth', 'borg', 'brattain', 'cannon', 'carson', 'cerf',
  'chandrasekhar', 'curie', 'darwin', 'dijkstra', 'easley', 'einstein', 'euler', 'faraday', 'fermat', 'feynman',
  'franklin', 'galileo', 'gauss', 'goldberg', 'goodall', 'hamilton', 'hawking', 'heisenberg', 'hodgkin', 'hopper',
  'hypatia', 'jackson', 'johnson', 'kalam', 'keller', 'knuth', 'kowalevski', 'lamarr', 'lamport', 'leakey',
  'lovelace', 'mayer', 'mccarthy', 'meitner', 'mendel', 'mirzakhani', 'morse', 'napier', 'newton', 'noether',
  'pascal', 'payne', 'perlman', 'pike', 'poincare', 'ramanujan', 'ritchie', 'rubin', 'sammet', 'shannon',
  'shockley', 'sinoussi', 'stallman', 'swartz', 'tesla', 'thompson', 'torvalds', 'turing', 'varahamihira', 'villani',
  'wilbur', 'wiles', 'williams', 'wing', 'wozniak', 'wright', 'yalow', 'yonath', 'zhukovsky', 'zuse',
];

function pick<T>(list: T[]): T {
  return list[Math.floor(Math.random() * list.length)];
}

/** A name not in `taken`; a digit is appended after a few collisions, as Docker does. */
export function randomContainerName(taken: (name: string) => boolean): string {
  for (let attempt = 0; ; attempt++) {
    const base = `${pick(ADJECTIVES)}_${pick(SURNAMES)}`;
    const name = attempt < 5 ? base : `${base}${Math.floor(Math.random() * 10)}`;
    if (!taken(name)) return name;
  }
}

const VALID_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function isValidContainerName(name: string): boolean {
  return VALID_NAME.test(name);
}
