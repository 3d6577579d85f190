/** The train extensions of schedules, penalties, clipping and early stopping, the best model's file, batch mixing, and ensembles (imported for their registration). */
import './schedule.js';
import './regularize.js';
import './stopping.js';
import './save-best.js';
import './mix.js';
import './ensemble.js';
import './cv.js';
