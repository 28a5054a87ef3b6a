-- Run once by the postgres image on an empty volume: the database of Estelam's record (audit log, message-log
-- index and checkpoints, consent codes), apart from Airflow's metadata.
CREATE DATABASE estelam_record OWNER airflow;
