/** The train extensions of schedules, penalties, clipping and early stopping, batch mixing, and ensembles (imported for their registration). */
import './schedule.js';
import './regularize.js';
import './stopping.js';
import './mix.js';
import './ensemble.js';
